#include "cli/control_events.h"

#include <vector>

#include "cli/control_protocol.h"

namespace plumlog::cli {

ControlEvents::ControlEvents(uv_loop_t* loop) {
  uv_timer_init(loop, &timer_);
  timer_.data = this;
}

ControlEvents::~ControlEvents() = default;

void ControlEvents::OnEntry(const Entry&) {
  if (closed_ || subscribers_.empty() || stored_pending_) return;
  stored_pending_ = true;
  uv_timer_start(&timer_, &ControlEvents::OnTimer, kStoredDelayMs, 0);
}

void ControlEvents::OnMemberEvent(const MemberEvent& event) {
  if (closed_) return;
  Broadcast(EncodeMemberEvent(event));
}

void ControlEvents::OnTimer(uv_timer_t* timer) {
  auto* self = static_cast<ControlEvents*>(timer->data);
  self->stored_pending_ = false;
  self->Broadcast(EncodeStoredEvent());
}

void ControlEvents::Broadcast(const std::string& payload) {
  if (server_ == nullptr) return;
  // Push may disconnect a client that does not read (OnClientClosed then
  // unsubscribes it): walk a copy.
  const std::vector<net::ControlClientId> all(subscribers_.begin(),
                                         subscribers_.end());
  for (net::ControlClientId c : all) {
    if (!server_->Push(c, payload)) subscribers_.erase(c);
  }
}

void ControlEvents::Close() {
  if (closed_) return;
  closed_ = true;
  subscribers_.clear();
  uv_close(reinterpret_cast<uv_handle_t*>(&timer_), [](uv_handle_t* h) {
    static_cast<ControlEvents*>(h->data)->timer_closed_ = true;
  });
}

}  // namespace plumlog::cli
