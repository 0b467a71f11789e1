// Forced into every source file of a layer (`-include`, see plumlog_layer in
// CMakeLists.txt): poisons the identifiers of what the layer must not use, so
// that including <uv.h> or a rocksdb/ header, or reading a clock, fails to
// compile instead of slowly eroding the layering (docs/architecture.md).
//
//   PLUMLOG_GUARD_NO_UV       libuv (everything but net/)
//   PLUMLOG_GUARD_NO_ROCKSDB  RocksDB (everything but storage/)
//   PLUMLOG_GUARD_NO_IO       clocks and sockets (the sans-IO protocol cores:
//                             time is an input, frames are bytes)
#ifndef PLUMLOG_CORE_LAYER_GUARD_H_
#define PLUMLOG_CORE_LAYER_GUARD_H_

#if defined(PLUMLOG_GUARD_NO_UV)
#pragma GCC poison uv_run uv_tcp_init uv_timer_start
#endif
#if defined(PLUMLOG_GUARD_NO_ROCKSDB)
#pragma GCC poison rocksdb
#endif
#if defined(PLUMLOG_GUARD_NO_IO)
#pragma GCC poison steady_clock system_clock high_resolution_clock sockaddr_in \
    getaddrinfo
#endif

#endif  // PLUMLOG_CORE_LAYER_GUARD_H_
