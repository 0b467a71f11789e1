// Virtual time and the event queue shared by the simulators: events run in
// (time, insertion) order, so a run is fully determined by its seed.
#ifndef PLUMLOG_TESTS_SIM_EVENT_QUEUE_H_
#define PLUMLOG_TESTS_SIM_EVENT_QUEUE_H_

#include <cstdint>
#include <functional>
#include <queue>
#include <vector>

#include "replication/replicator.h"

namespace plumlog::sim {

class EventQueue {
 public:
  using TimeMs = replication::TimeMs;

  TimeMs now() const { return now_; }
  void Schedule(TimeMs at, std::function<void()> fn) {
    queue_.push(Event{at, next_seq_++, std::move(fn)});
  }
  // Runs events until pred() holds (checked once per distinct time step) or
  // `max_duration` of virtual time has passed; then returns pred(). Calls
  // `on_event` before each event (statistics).
  bool RunUntil(const std::function<bool()>& pred, TimeMs max_duration,
                const std::function<void()>& on_event = nullptr) {
    const TimeMs deadline = now_ + max_duration;
    if (pred()) return true;
    while (!queue_.empty() && queue_.top().at <= deadline) {
      Event ev = queue_.top();
      queue_.pop();
      now_ = ev.at;
      if (on_event) on_event();
      ev.fn();
      if ((queue_.empty() || queue_.top().at != now_) && pred()) return true;
    }
    now_ = std::max(now_, deadline);
    return pred();
  }

 private:
  struct Event {
    TimeMs at;
    uint64_t seq;
    std::function<void()> fn;
    bool operator>(const Event& o) const { return at != o.at ? at > o.at : seq > o.seq; }
  };
  TimeMs now_ = 0;
  uint64_t next_seq_ = 0;
  std::priority_queue<Event, std::vector<Event>, std::greater<Event>> queue_;
};

}  // namespace plumlog::sim

#endif  // PLUMLOG_TESTS_SIM_EVENT_QUEUE_H_
