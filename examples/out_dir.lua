--- Where the examples write their files: $SCRAVIO_OUT_DIR when set, otherwise
-- a new private temporary directory, never the current directory (which may
-- be the checkout). The examples load it with dofile(root .. "/examples/out_dir.lua").
return function()
  local dir = os.getenv("SCRAVIO_OUT_DIR")
  if dir and dir ~= "" then return dir end
  dir = os.tmpname() -- a fresh name (the file it creates is replaced by the directory)
  os.remove(dir)
  local ok = os.execute("mkdir -m 700 '" .. dir:gsub("'", "'\\''") .. "'")
  if ok ~= true and ok ~= 0 then error("cannot create the output directory " .. dir, 0) end
  return dir
end
