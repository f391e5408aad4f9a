// plan: the allocator's answer as a value a person can print (item, scheme, bits, error share)
// and an engine can store (a line-based text format that round-trips exactly).
#pragma once
#include <algorithm>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <ostream>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "../error.hpp"
#include "knapsack.hpp"

MIXQ_BEGIN_NAMESPACE

struct plan_entry {
  std::string item;            ///< item name
  std::size_t option = 0;      ///< chosen option index (the variant index for layer candidates)
  std::string scheme;          ///< the option's label (scheme name)
  std::uint64_t weights = 0;
  std::uint64_t bits = 0;      ///< stored bits of the item, everything counted
  double error = 0;            ///< modelled error of the item
  double bits_per_weight() const noexcept {
    return weights ? static_cast<double>(bits) / static_cast<double>(weights) : 0.0;
  }
};

struct plan {
  std::vector<plan_entry> entries;
  std::uint64_t budget_bits = 0;
  std::string method;          ///< solver (allocation::method)
  bool optimal = false;
  std::uint64_t resolution = 0;

  std::uint64_t total_bits() const noexcept {
    std::uint64_t s = 0;
    for (const auto& e : entries) s += e.bits;
    return s;
  }
  std::uint64_t total_weights() const noexcept {
    std::uint64_t s = 0;
    for (const auto& e : entries) s += e.weights;
    return s;
  }
  double bits_per_weight() const noexcept {
    const auto w = total_weights();
    return w ? static_cast<double>(total_bits()) / static_cast<double>(w) : 0.0;
  }
  double total_error() const noexcept {
    double s = 0;
    for (const auto& e : entries) s += e.error;
    return s;
  }
  /// Fraction of the total error that entry i contributes (0 when the total is 0).
  double error_share(std::size_t i) const noexcept {
    const double t = total_error();
    return t > 0 ? entries[i].error / t : 0.0;
  }
  /// Option index per entry (what mixq::materialize / mixed_matrix take).
  std::vector<std::size_t> choices() const {
    std::vector<std::size_t> c;
    c.reserve(entries.size());
    for (const auto& e : entries) c.push_back(e.option);
    return c;
  }

  /// A table for people: item | scheme | bits/weight | bits | error | share.
  std::string table() const {
    std::size_t wi = 4, ws = 6;
    for (const auto& e : entries) wi = std::max(wi, e.item.size()), ws = std::max(ws, e.scheme.size());
    std::string out;
    char buf[512];
    std::snprintf(buf, sizeof buf, "%-*s  %-*s  %8s  %12s  %11s  %6s\n", static_cast<int>(wi), "item", static_cast<int>(ws),
                  "scheme", "bits/w", "bits", "error", "share");
    out += buf;
    for (std::size_t i = 0; i < entries.size(); ++i) {
      const auto& e = entries[i];
      std::snprintf(buf, sizeof buf, "%-*s  %-*s  %8.4f  %12llu  %11.4e  %5.1f%%\n", static_cast<int>(wi), e.item.c_str(),
                    static_cast<int>(ws), e.scheme.c_str(), e.bits_per_weight(),
                    static_cast<unsigned long long>(e.bits), e.error, 100.0 * error_share(i));
      out += buf;
    }
    std::snprintf(buf, sizeof buf, "%-*s  %-*s  %8.4f  %12llu  %11.4e  (budget %llu bits = %.4f bits/w; %s)\n",
                  static_cast<int>(wi), "total", static_cast<int>(ws), "", bits_per_weight(),
                  static_cast<unsigned long long>(total_bits()), total_error(),
                  static_cast<unsigned long long>(budget_bits),
                  total_weights() ? static_cast<double>(budget_bits) / static_cast<double>(total_weights()) : 0.0,
                  method.c_str());
    out += buf;
    return out;
  }

  /// Text form for engines: a header line "mixq-plan 1", then key<TAB>value lines (method,
  /// optimal, budget_bits, resolution, entries), then one line per entry:
  /// item<TAB>option<TAB>scheme<TAB>weights<TAB>bits<TAB>error. Numbers round-trip exactly.
  /// Throws mixq::error if a name or label contains a tab or a line break.
  std::string serialize() const {
    auto check = [](const std::string& s, const char* what) {
      if (s.find_first_of("\t\r\n") != std::string::npos)
        throw error(std::string("mixq::plan::serialize: ") + what + " '" + s + "' contains a tab or line break");
    };
    check(method, "method");
    std::string out = "mixq-plan 1\n";
    out += "method\t" + method + "\n";
    out += std::string("optimal\t") + (optimal ? "1" : "0") + "\n";
    out += "budget_bits\t" + std::to_string(budget_bits) + "\n";
    out += "resolution\t" + std::to_string(resolution) + "\n";
    out += "entries\t" + std::to_string(entries.size()) + "\n";
    for (const auto& e : entries) {
      check(e.item, "item");
      check(e.scheme, "scheme");
      char num[64];
      const auto r = std::to_chars(num, num + sizeof num, e.error);  // shortest round-trip form
      out += e.item + "\t" + std::to_string(e.option) + "\t" + e.scheme + "\t" + std::to_string(e.weights) + "\t" +
             std::to_string(e.bits) + "\t" + std::string(num, r.ptr) + "\n";
    }
    return out;
  }

  /// Inverse of serialize(). Throws mixq::error naming the line on malformed input.
  static plan parse(std::string_view text) {
    std::vector<std::string_view> lines;
    for (std::size_t p = 0; p < text.size();) {
      const std::size_t e = text.find('\n', p);
      lines.push_back(text.substr(p, e == std::string_view::npos ? std::string_view::npos : e - p));
      if (e == std::string_view::npos) break;
      p = e + 1;
    }
    auto fail = [](std::size_t line, const std::string& why) -> error {
      return error("mixq::plan::parse: line " + std::to_string(line + 1) + ": " + why);
    };
    auto fields = [](std::string_view l) {
      std::vector<std::string_view> f;
      for (std::size_t p = 0;;) {
        const std::size_t e = l.find('\t', p);
        f.push_back(l.substr(p, e == std::string_view::npos ? std::string_view::npos : e - p));
        if (e == std::string_view::npos) break;
        p = e + 1;
      }
      return f;
    };
    auto u64 = [&](std::string_view s, std::size_t line) {
      std::uint64_t v = 0;
      const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
      if (r.ec != std::errc() || r.ptr != s.data() + s.size()) throw fail(line, "'" + std::string(s) + "' is not an unsigned integer");
      return v;
    };
    auto kv = [&](std::size_t line, const char* key) {
      if (line >= lines.size()) throw fail(line, std::string("missing '") + key + "'");
      const auto f = fields(lines[line]);
      if (f.size() != 2 || f[0] != key) throw fail(line, std::string("expected '") + key + "<TAB>value'");
      return f[1];
    };
    if (lines.empty() || lines[0] != "mixq-plan 1") throw fail(0, "expected the header 'mixq-plan 1'");
    plan p;
    p.method = std::string(kv(1, "method"));
    const auto opt = kv(2, "optimal");
    if (opt != "0" && opt != "1") throw fail(2, "optimal must be 0 or 1");
    p.optimal = opt == "1";
    p.budget_bits = u64(kv(3, "budget_bits"), 3);
    p.resolution = u64(kv(4, "resolution"), 4);
    const std::uint64_t n = u64(kv(5, "entries"), 5);
    if (lines.size() < 6 + n) throw fail(lines.size(), "expected " + std::to_string(n) + " entries");
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t line = 6 + i;
      const auto f = fields(lines[line]);
      if (f.size() != 6) throw fail(line, "expected 6 tab-separated fields (item, option, scheme, weights, bits, error)");
      plan_entry e;
      e.item = std::string(f[0]);
      e.option = static_cast<std::size_t>(u64(f[1], line));
      e.scheme = std::string(f[2]);
      e.weights = u64(f[3], line);
      e.bits = u64(f[4], line);
      const auto r = std::from_chars(f[5].data(), f[5].data() + f[5].size(), e.error);
      if (r.ec != std::errc() || r.ptr != f[5].data() + f[5].size()) throw fail(line, "'" + std::string(f[5]) + "' is not a number");
      p.entries.push_back(std::move(e));
    }
    for (std::size_t i = 6 + n; i < lines.size(); ++i)
      if (!lines[i].empty()) throw fail(i, "unexpected text after the entries");
    return p;
  }

  friend std::ostream& operator<<(std::ostream& os, const plan& p) { return os << p.table(); }
};

/// The plan of an allocation over its items.
inline plan make_plan(const std::vector<item>& items, const allocation& a) {
  if (a.choice.size() != items.size())
    throw error("mixq::make_plan: the allocation has " + std::to_string(a.choice.size()) + " choices for " +
                std::to_string(items.size()) + " items");
  plan p;
  p.budget_bits = a.budget_bits;
  p.method = a.method;
  p.optimal = a.optimal;
  p.resolution = a.resolution;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (a.choice[i] >= items[i].options.size())
      throw error("mixq::make_plan: choice " + std::to_string(a.choice[i]) + " of item '" + items[i].name +
                  "' is out of range");
    const option& o = items[i].options[a.choice[i]];
    p.entries.push_back({items[i].name, a.choice[i], o.label, items[i].weights, o.bits, o.error});
  }
  return p;
}

MIXQ_END_NAMESPACE
