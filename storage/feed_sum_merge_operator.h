// The RocksDB merge operator of the `feed_sums` column family (storage/keys.h,
// docs/storage.md "Feed summaries"): each operand is a FeedSumValue, and
// merging adds them (count modulo 2^64, sum modulo 2^256). A write adds the
// change of a range's summary without reading the record first.
#ifndef PLUMLOG_STORAGE_FEED_SUM_MERGE_OPERATOR_H_
#define PLUMLOG_STORAGE_FEED_SUM_MERGE_OPERATOR_H_

#include <rocksdb/merge_operator.h>

#include <string>

namespace plumlog::storage {

class FeedSumMergeOperator final : public rocksdb::AssociativeMergeOperator {
 public:
  // False (RocksDB then reports Corruption) if a value is not 40 bytes.
  bool Merge(const rocksdb::Slice& key, const rocksdb::Slice* existing_value,
             const rocksdb::Slice& value, std::string* new_value,
             rocksdb::Logger* logger) const override;
  const char* Name() const override { return "plumlog.FeedSumAdd"; }
};

}  // namespace plumlog::storage

#endif  // PLUMLOG_STORAGE_FEED_SUM_MERGE_OPERATOR_H_
