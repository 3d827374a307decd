#include "check/choice.h"

#include <charconv>
#include <stdexcept>

namespace sd::check {

std::string to_string(const choice& c) {
  const std::string a = std::to_string(c.actor);
  switch (c.kind) {
    case choice_kind::step:
      return a;
    case choice_kind::irq:
      return "i" + a;
    case choice_kind::walk:
      return "w" + a + "." + std::to_string(c.arg);
    case choice_kind::preempt:
      return "p" + a;
    case choice_kind::resume:
      return "r" + a;
    case choice_kind::land:
      return "l" + a;
    case choice_kind::evict:
      return "e" + a + "." + std::to_string(c.arg);
    case choice_kind::nmi:
      return "n" + a + "." + std::to_string(c.arg);
  }
  return "?";
}

std::string encode_schedule(const std::vector<choice>& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size();) {
    std::size_t j = i + 1;
    while (j < s.size() && s[j] == s[i]) ++j;
    if (!out.empty()) out += ',';
    out += to_string(s[i]);
    if (j - i > 1) {
      out += '*';
      out += std::to_string(j - i);
    }
    i = j;
  }
  return out;
}

namespace {

std::uint32_t number(std::string_view t, std::string_view token) {
  std::uint32_t v = 0;
  auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (t.empty() || ec != std::errc() || p != t.data() + t.size() || v > 0xffff)
    throw std::invalid_argument("bad schedule token '" + std::string(token) + "'");
  return v;
}

}  // namespace

std::vector<choice> decode_schedule(std::string_view text) {
  std::vector<choice> out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t comma = text.find(',', pos);
    if (comma == std::string_view::npos) comma = text.size();
    const std::string_view token = text.substr(pos, comma - pos);
    pos = comma + 1;
    std::string_view body = token;
    std::uint32_t repeat = 1;
    if (const auto star = token.find('*'); star != std::string_view::npos) {
      body = token.substr(0, star);
      repeat = number(token.substr(star + 1), token);
      if (repeat == 0)
        throw std::invalid_argument("bad schedule token '" + std::string(token) + "'");
    }
    choice c;
    if (!body.empty() && (body[0] < '0' || body[0] > '9')) {
      switch (body[0]) {
        case 'i':
          c.kind = choice_kind::irq;
          break;
        case 'w':
          c.kind = choice_kind::walk;
          break;
        case 'p':
          c.kind = choice_kind::preempt;
          break;
        case 'r':
          c.kind = choice_kind::resume;
          break;
        case 'l':
          c.kind = choice_kind::land;
          break;
        case 'e':
          c.kind = choice_kind::evict;
          break;
        case 'n':
          c.kind = choice_kind::nmi;
          break;
        default:
          throw std::invalid_argument("bad schedule token '" + std::string(token) + "'");
      }
      body.remove_prefix(1);
    }
    if (c.kind == choice_kind::walk || c.kind == choice_kind::evict || c.kind == choice_kind::nmi) {
      const auto dot = body.find('.');
      if (dot == std::string_view::npos)
        throw std::invalid_argument("bad schedule token '" + std::string(token) + "'");
      c.arg = static_cast<std::uint16_t>(number(body.substr(dot + 1), token));
      body = body.substr(0, dot);
    }
    c.actor = static_cast<std::uint16_t>(number(body, token));
    out.insert(out.end(), repeat, c);
    if (out.size() > 10'000'000) throw std::invalid_argument("schedule too long");
  }
  return out;
}

}  // namespace sd::check
