#include "storage/feed_sum_merge_operator.h"

#include "storage/keys.h"

namespace plumlog::storage {

bool FeedSumMergeOperator::Merge(const rocksdb::Slice& /*key*/,
                                 const rocksdb::Slice* existing_value,
                                 const rocksdb::Slice& value,
                                 std::string* new_value,
                                 rocksdb::Logger* /*logger*/) const {
  FeedRangeSummary total, add;
  if (existing_value != nullptr &&
      !ParseFeedSumValue(
          std::string_view(existing_value->data(), existing_value->size()),
          &total)) {
    return false;
  }
  if (!ParseFeedSumValue(std::string_view(value.data(), value.size()), &add))
    return false;
  total.Add(add);
  *new_value = FeedSumValue(total);
  return true;
}

}  // namespace plumlog::storage
