-- A minimal, valid XLSX (OOXML) writer: a zip of "stored" (uncompressed)
-- entries with real CRC-32s, whose worksheet uses inline strings.
-- The worksheet is produced by a generator, so a workbook is never held in
-- memory: layout() runs the generator once to learn the sheet's size and CRC
-- (zip local headers need both), and stream() replays it to the client.
local bit = require "bit"

local M = {}
local band, bxor, rshift, bnot = bit.band, bit.bxor, bit.rshift, bit.bnot
local byte, char, floor = string.byte, string.char, math.floor

local T = {}
for i = 0, 255 do
  local c = i
  for _ = 1, 8 do
    if band(c, 1) == 1 then c = bxor(rshift(c, 1), 0xEDB88320) else c = rshift(c, 1) end
  end
  T[i] = c
end

-- crc32(prev, s): incremental CRC-32 (zip / zlib polynomial); prev = 0 to start.
function M.crc32(prev, s)
  local crc = bnot(prev or 0)
  for i = 1, #s do crc = bxor(rshift(crc, 8), T[band(bxor(crc, byte(s, i)), 0xff)]) end
  return bnot(crc) % 4294967296
end

local function le16(n) return char(n % 256, floor(n / 256) % 256) end
local function le32(n) return char(n % 256, floor(n / 256) % 256, floor(n / 65536) % 256, floor(n / 16777216) % 256) end

local DOS_TIME, DOS_DATE = 0, (2025 - 1980) * 512 + 1 * 32 + 1

local function local_header(name, crc, size)
  return le32(0x04034b50) .. le16(20) .. le16(0) .. le16(0) .. le16(DOS_TIME) .. le16(DOS_DATE) ..
    le32(crc) .. le32(size) .. le32(size) .. le16(#name) .. le16(0) .. name
end

local function central_header(name, crc, size, offset)
  return le32(0x02014b50) .. le16(20) .. le16(20) .. le16(0) .. le16(0) .. le16(DOS_TIME) .. le16(DOS_DATE) ..
    le32(crc) .. le32(size) .. le32(size) .. le16(#name) .. le16(0) .. le16(0) .. le16(0) .. le16(0) ..
    le32(0) .. le32(offset) .. name
end

local function eocd(n, cd_size, cd_offset)
  return le32(0x06054b50) .. le16(0) .. le16(0) .. le16(n) .. le16(n) .. le32(cd_size) .. le32(cd_offset) .. le16(0)
end

local XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'

local function static_parts(sheet_name)
  return {
    { "[Content_Types].xml", XML ..
      '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">' ..
      '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>' ..
      '<Default Extension="xml" ContentType="application/xml"/>' ..
      '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>' ..
      '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>' ..
      '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>' ..
      '<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>' ..
      '<Override PartName="/docProps/app.xml" ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/>' ..
      '</Types>' },
    { "_rels/.rels", XML ..
      '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">' ..
      '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>' ..
      '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" Target="docProps/core.xml"/>' ..
      '<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/extended-properties" Target="docProps/app.xml"/>' ..
      '</Relationships>' },
    { "docProps/core.xml", XML ..
      '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" ' ..
      'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" ' ..
      'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">' ..
      '<dc:title>Scravio leads export</dc:title><dc:creator>Scravio (fake server)</dc:creator>' ..
      '<dcterms:created xsi:type="dcterms:W3CDTF">2025-01-01T00:00:00Z</dcterms:created>' ..
      '</cp:coreProperties>' },
    { "docProps/app.xml", XML ..
      '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">' ..
      '<Application>Scravio</Application></Properties>' },
    { "xl/workbook.xml", XML ..
      '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" ' ..
      'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">' ..
      '<sheets><sheet name="' .. sheet_name .. '" sheetId="1" r:id="rId1"/></sheets></workbook>' },
    { "xl/_rels/workbook.xml.rels", XML ..
      '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">' ..
      '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>' ..
      '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>' ..
      '</Relationships>' },
    { "xl/styles.xml", XML ..
      '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">' ..
      '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>' ..
      '<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>' ..
      '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>' ..
      '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>' ..
      '<cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs>' ..
      '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>' ..
      '</styleSheet>' },
  }
end

local SHEET = "xl/worksheets/sheet1.xml"
local SHEET_HEAD = XML .. '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
local SHEET_TAIL = '</sheetData></worksheet>'

local function xml_text(s)
  s = s:gsub("[%z\1-\8\11\12\14-\31]", "")
  return (s:gsub("[&<>]", { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;" }))
end

local COLS = {}
for i = 1, 26 do COLS[i] = char(64 + i) end

-- row_xml(r, values): values are strings or numbers (nil / "" -> empty cell)
function M.row_xml(r, values)
  local out = { '<row r="', r, '">' }
  for i, v in ipairs(values) do
    local ref = COLS[i] .. r
    if type(v) == "number" then
      out[#out + 1] = '<c r="' .. ref .. '"><v>' .. string.format("%.14g", v) .. '</v></c>'
    elseif v ~= nil and v ~= "" then
      local t = xml_text(tostring(v))
      local sp = (t:match("^%s") or t:match("%s$")) and ' xml:space="preserve"' or ""
      out[#out + 1] = '<c r="' .. ref .. '" t="inlineStr"><is><t' .. sp .. '>' .. t .. '</t></is></c>'
    end
  end
  out[#out + 1] = '</row>'
  return table.concat(out)
end

-- sheet_gen(rows_gen) wraps a generator of row XML into the worksheet part.
local function sheet_gen(rows_gen)
  return function(emit)
    emit(SHEET_HEAD)
    rows_gen(emit)
    emit(SHEET_TAIL)
  end
end

-- layout(rows_gen, sheet_name) -> { size = total bytes, gen = function(emit) }
function M.layout(rows_gen, sheet_name)
  local sheet = sheet_gen(rows_gen)
  local crc, size = 0, 0
  sheet(function(s) crc = M.crc32(crc, s); size = size + #s; return true end)
  local parts = static_parts(sheet_name or "Leads")
  local entries, offset = {}, 0
  for _, p in ipairs(parts) do
    local name, data = p[1], p[2]
    local e = { name = name, data = data, crc = M.crc32(0, data), size = #data, offset = offset }
    entries[#entries + 1] = e
    offset = offset + 30 + #name + #data
  end
  local se = { name = SHEET, crc = crc, size = size, offset = offset }
  entries[#entries + 1] = se
  offset = offset + 30 + #SHEET + size
  local cd = {}
  for _, e in ipairs(entries) do cd[#cd + 1] = central_header(e.name, e.crc, e.size, e.offset) end
  cd = table.concat(cd)
  local tail = cd .. eocd(#entries, #cd, offset)
  local total = offset + #tail
  local function gen(emit)
    for _, e in ipairs(entries) do
      if e.data then emit(local_header(e.name, e.crc, e.size) .. e.data) end
    end
    emit(local_header(SHEET, crc, size))
    sheet(emit)
    emit(tail)
  end
  return { size = total, gen = gen, crc = crc }
end

return M
