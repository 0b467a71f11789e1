// UTF-8 validation for text that reaches users or other programs.
#ifndef PLUMLOG_CORE_UTF8_H_
#define PLUMLOG_CORE_UTF8_H_

#include <cstddef>
#include <optional>
#include <string_view>

namespace plumlog::core {

// Well-formed UTF-8 (RFC 3629): no overlong forms, no surrogates, no code
// points above U+10FFFF, no truncated sequences.
bool IsUtf8(std::string_view s);

// Decodes the sequence at s[*i] (*i < s.size()) and moves *i past it; a
// byte that does not start a well-formed sequence gives nullopt and moves *i
// by one.
std::optional<char32_t> DecodeUtf8At(std::string_view s, size_t* i);

}  // namespace plumlog::core

#endif  // PLUMLOG_CORE_UTF8_H_
