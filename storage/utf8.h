// UTF-8 validation for text that reaches users or other programs.
#ifndef PLUMLOG_STORAGE_UTF8_H_
#define PLUMLOG_STORAGE_UTF8_H_

#include <string_view>

namespace plumlog::storage {

// Well-formed UTF-8 (RFC 3629): no overlong forms, no surrogates, no code
// points above U+10FFFF, no truncated sequences.
bool IsUtf8(std::string_view s);

}  // namespace plumlog::storage

#endif  // PLUMLOG_STORAGE_UTF8_H_
