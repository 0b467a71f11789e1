// Narrow interfaces through which an application learns what the store does.
#ifndef PLUMLOG_LISTENER_H_
#define PLUMLOG_LISTENER_H_

#include "plumlog/types.h"

namespace plumlog {

// Told about every entry that becomes durable in the store, local or ingested,
// in storage order, on the thread that wrote it, after the write is durable.
// Keep the callbacks short. They must not call Store write methods
// (Append/AppendBatch/Ingest): those return kFailedPrecondition from inside a callback.
class StoreListener {
 public:
  virtual ~StoreListener() = default;
  virtual void OnEntry(const Entry& entry) = 0;
  // A fork of `author` was detected and its proof stored; the feed is now frozen.
  virtual void OnFork(const ForkProof& proof) { (void)proof; }
};

}  // namespace plumlog

#endif  // PLUMLOG_LISTENER_H_
