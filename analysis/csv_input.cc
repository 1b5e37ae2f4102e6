// CSV reading for scalefit (see csv_input.h). Line numbers in errors are 1-based physical
// lines of the file so that a user can jump to them.
#include "analysis/csv_input.h"

#include <fmt/core.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include "ss/error.h"

namespace ss::analysis {
namespace {

const std::set<std::string> kRoles = {"N", "D", "C", "loss", "run"};

std::string trim(const std::string& s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return "";
  const auto last = s.find_last_not_of(" \t\r\n");
  return s.substr(first, last - first + 1);
}

std::string unquote(const std::string& s) {
  const std::string t = trim(s);
  if (t.size() >= 2 && (t.front() == '"' || t.front() == '\'') && t.back() == t.front())
    return t.substr(1, t.size() - 2);
  return t;
}

// Parses a finite number; nullopt when the text is not one in full.
std::optional<double> parse_number(const std::string& text) {
  const std::string t = trim(text);
  if (t.empty()) return std::nullopt;
  char* end = nullptr;
  errno = 0;
  const double value = std::strtod(t.c_str(), &end);
  if (end != t.c_str() + t.size() || errno == ERANGE || !std::isfinite(value)) return std::nullopt;
  return value;
}

}  // namespace

ColumnMap parse_column_spec(const std::string& spec) {
  ColumnMap columns;
  // Split on commas outside quotes.
  std::vector<std::string> items;
  std::string current;
  char quote = 0;
  for (char ch : spec) {
    if (quote) {
      if (ch == quote) quote = 0;
      current += ch;
    } else if (ch == '"' || ch == '\'') {
      quote = ch;
      current += ch;
    } else if (ch == ',') {
      items.push_back(current);
      current.clear();
    } else {
      current += ch;
    }
  }
  items.push_back(current);
  for (const std::string& item : items) {
    const auto eq = item.find('=');
    if (eq == std::string::npos)
      throw InputError(fmt::format(
          "--columns: '{}' has no '='; write ROLE=HEADER, e.g. --columns N=\"Model Size\","
          "C=\"Training FLOP\",loss=loss",
          trim(item)));
    const std::string role = trim(item.substr(0, eq));
    const std::string header = unquote(item.substr(eq + 1));
    if (!kRoles.contains(role))
      throw InputError(
          fmt::format("--columns: unknown role '{}'; the roles are N, D, C, loss and run", role));
    if (header.empty())
      throw InputError(fmt::format("--columns: role {} has an empty header name", role));
    if (!columns.emplace(role, header).second)
      throw InputError(fmt::format("--columns: role {} is given twice; give it once", role));
  }
  if (!columns.contains("N") || !columns.contains("loss") ||
      (!columns.contains("D") && !columns.contains("C")))
    throw InputError(
        "--columns: N, loss and at least one of D or C are required, e.g. --columns "
        "N=\"Model Size\",C=\"Training FLOP\",loss=loss");
  return columns;
}

std::vector<std::vector<std::string>> parse_csv_records(const std::string& text,
                                                        const std::string& where) {
  std::vector<std::vector<std::string>> records;
  std::vector<std::string> record;
  std::string field;
  bool in_quotes = false;
  bool field_started = false;  // distinguishes "" (one empty field) from an empty line
  int line = 1;
  int quote_line = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char ch = text[i];
    if (in_quotes) {
      if (ch == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field += '"';
          ++i;
        } else {
          in_quotes = false;
        }
      } else {
        if (ch == '\n') ++line;
        field += ch;
      }
      continue;
    }
    if (ch == '"') {
      in_quotes = true;
      field_started = true;
      quote_line = line;
    } else if (ch == ',') {
      record.push_back(field);
      field.clear();
      field_started = true;
    } else if (ch == '\r') {
      // CRLF: the '\n' ends the record.
    } else if (ch == '\n') {
      if (field_started || !field.empty() || !record.empty()) {
        record.push_back(field);
        records.push_back(record);
      }
      record.clear();
      field.clear();
      field_started = false;
      ++line;
    } else {
      field += ch;
    }
  }
  if (in_quotes)
    throw InputError(fmt::format("{}:{}: a quoted field is never closed; add the closing '\"'",
                                 where, quote_line));
  if (field_started || !field.empty() || !record.empty()) {
    record.push_back(field);
    records.push_back(record);
  }
  return records;
}

FitData read_csv_points(const std::filesystem::path& path, const ColumnMap& columns) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw InputError(
        fmt::format("{}: cannot be read; check the path and its permissions", path.string()));
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string text = buffer.str();
  if (text.find('\0') != std::string::npos)
    throw InputError(fmt::format(
        "{}: is neither a CSV file (it holds binary data) nor a ScaleSweep store; pass a CSV "
        "with --columns or a store made by `scalesweep plan --store`",
        path.string()));
  const auto records = parse_csv_records(text, path.string());
  if (records.empty())
    throw InputError(
        fmt::format("{}: the CSV is empty; it needs a header line and data rows", path.string()));
  const auto& header = records.front();
  std::map<std::string, std::size_t> index;  // role -> column index
  for (const auto& [role, name] : columns) {
    std::size_t found = header.size();
    for (std::size_t i = 0; i < header.size(); ++i)
      if (trim(header[i]) == name) found = i;
    if (found == header.size()) {
      std::string known;
      for (const auto& h : header) known += (known.empty() ? "\"" : ", \"") + trim(h) + "\"";
      throw InputError(
          fmt::format("{}:1: column \"{}\" (role {}) is not in the header; the columns are {}",
                      path.string(), name, role, known));
    }
    index[role] = found;
  }
  FitData data;
  data.source = path.string();
  data.from_store = false;
  // Physical line of each record for error messages: records are counted, and quoted newlines
  // are rare in numeric files, so the record number + 1 is the line in practice.
  for (std::size_t r = 1; r < records.size(); ++r) {
    const auto& row = records[r];
    const std::size_t line = r + 1;
    auto value = [&](const std::string& role) -> std::optional<double> {
      if (!index.contains(role)) return std::nullopt;
      const std::size_t col = index.at(role);
      if (col >= row.size())
        throw InputError(fmt::format("{}:{}: the row has {} fields, column \"{}\" is missing",
                                     path.string(), line, row.size(), columns.at(role)));
      const auto number = parse_number(row[col]);
      if (!number)
        throw InputError(fmt::format("{}:{}: column \"{}\" holds '{}', not a finite number",
                                     path.string(), line, columns.at(role), trim(row[col])));
      if (role != "run" && *number <= 0)
        throw InputError(fmt::format(
            "{}:{}: column \"{}\" ({}) is {}; N, D, C and loss must be > 0, fix or drop the row",
            path.string(), line, columns.at(role), role, *number));
      return number;
    };
    FitPoint p;
    p.n = *value("N");
    p.loss = *value("loss");
    const auto d = value("D");
    const auto c = value("C");
    p.d = d ? *d : *c / (6.0 * p.n);
    p.c = c ? *c : 6.0 * p.n * p.d;
    const auto run = value("run");
    p.run = run ? static_cast<std::int64_t>(*run) : static_cast<std::int64_t>(r);
    p.loss_kind = "csv";
    data.points.push_back(p);
  }
  if (data.points.empty())
    throw InputError(fmt::format("{}: the CSV has a header but no data rows", path.string()));
  if (!columns.contains("D")) data.notes.push_back("D derived as C/(6N) (no D column given)");
  if (!columns.contains("C")) data.notes.push_back("C derived as 6ND (no C column given)");
  return data;
}

}  // namespace ss::analysis
