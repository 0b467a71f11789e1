#!/usr/bin/env bash
# Checks the installed package of a plumlog build (registered with ctest by
# tests/install/CMakeLists.txt; nothing is downloaded).
#
#   install_test.sh MODE BUILD_DIR SOURCE_DIR WORK_DIR LIBDIR CXX [CCACHE] [FLAGS]
#
# Installs BUILD_DIR into WORK_DIR/prefix with `cmake --install`, then
#   MODE=package: configures and builds examples/standalone (find_package +
#     plumlog::plumlog) and examples/embed.cc with `pkg-config --cflags --libs
#     plumlog`, runs both binaries and checks their output;
#   MODE=headers: compiles every installed include/plumlog/*.h on its own
#     against the prefix alone and fails if one includes anything but
#     plumlog/ headers and standard headers (no rocksdb/, sodium, uv, msgpack:
#     those stay behind the public API).
# FLAGS (e.g. sanitizer flags of the build) are added to compile and link.
# $CMAKE, when set, is the cmake binary to use.
set -euo pipefail

mode="$1" build="$2" src="$3" work="$4" libdir="$5" cxx="$6"
ccache="${7:-}" flags="${8:-}"
prefix="$work/prefix"
cmake="${CMAKE:-cmake}"

rm -rf "$work"
mkdir -p "$work"
"$cmake" --install "$build" --prefix "$prefix" >"$work/install.log"

fail() { echo "install_test ($mode): FAIL: $*" >&2; exit 1; }
for f in "$libdir/libplumlog.a" "$libdir/cmake/plumlog/plumlogConfig.cmake" \
         "$libdir/cmake/plumlog/plumlogConfigVersion.cmake" \
         "$libdir/cmake/plumlog/plumlogTargets.cmake" "$libdir/pkgconfig/plumlog.pc" \
         include/plumlog/store.h; do
  [[ -f "$prefix/$f" ]] || fail "not installed: $f"
done
for h in "$src"/include/plumlog/*.h; do
  cmp -s "$h" "$prefix/include/plumlog/$(basename "$h")" ||
    fail "public header not installed (or differs): include/plumlog/$(basename "$h")"
done
if find "$prefix/include" -type f ! -path "$prefix/include/plumlog/*.h" | grep -q .; then
  fail "installed a non-public file: $(find "$prefix/include" -type f ! -path "$prefix/include/plumlog/*.h")"
fi

# The output examples/embed.cc prints when it works (it also exits 0 only then).
check_embed() {
  local bin="$1"
  local out="$work/$(basename "$bin").out"
  "$bin" "$work/run-$(basename "$bin")" >"$out" 2>&1 || { cat "$out" >&2; fail "$bin failed"; }
  grep -q '^bob stored 3 entries, 0 duplicates$' "$out" || { cat "$out" >&2; fail "$bin: unexpected output"; }
  grep -q '^\[bob\] new entry .* seq 3 ' "$out" || { cat "$out" >&2; fail "$bin: listener not called"; }
  echo "ok: $bin"
}

case "$mode" in
  package)
    gen=()
    if command -v ninja >/dev/null 2>&1; then gen=(-G Ninja); fi
    launcher=()
    if [[ -n "$ccache" ]]; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER="$ccache"); fi
    "$cmake" -S "$src/examples/standalone" -B "$work/app" "${gen[@]}" "${launcher[@]}" \
      -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER="$cxx" \
      -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="$flags" \
      -DCMAKE_PREFIX_PATH="$prefix" >"$work/app-configure.log" 2>&1 ||
      { cat "$work/app-configure.log" >&2; fail "find_package(plumlog) project did not configure"; }
    found=$(sed -n 's/^plumlog_DIR:PATH=//p' "$work/app/CMakeCache.txt")
    [[ "$found" -ef "$prefix/$libdir/cmake/plumlog" ]] ||
      fail "find_package(plumlog) found $found, not the test prefix"
    "$cmake" --build "$work/app" >"$work/app-build.log" 2>&1 ||
      { cat "$work/app-build.log" >&2; fail "find_package(plumlog) project did not build"; }
    check_embed "$work/app/embed"
    bash "$src/examples/chat_test.sh" "$work/app/chat" ||
      fail "the chat example built against the installed package failed"

    export PKG_CONFIG_PATH="$prefix/$libdir/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
    pc=$(pkg-config --cflags --libs plumlog) || fail "pkg-config does not find plumlog"
    echo "pkg-config --cflags --libs plumlog: $pc"
    # shellcheck disable=SC2086
    ${ccache:+"$ccache"} "$cxx" -std=c++20 -O1 $flags "$src/examples/embed.cc" \
      -o "$work/embed-pkgconfig" $pc 2>"$work/pkgconfig-build.log" ||
      { cat "$work/pkgconfig-build.log" >&2; fail "pkg-config build failed"; }
    check_embed "$work/embed-pkgconfig"
    ;;
  headers)
    # Third-party headers a public header must not reach (they are the
    # library's private dependencies, or not dependencies at all).
    forbidden='/(rocksdb|sodium|uv|msgpack|nlohmann|CLI|gtest|gmock|benchmark)(/|\.h)|/(sodium|uv|msgpack)\.h(pp)?$'
    n=0
    for h in "$prefix"/include/plumlog/*.h; do
      name="plumlog/$(basename "$h")"
      tu="$work/$(basename "$h" .h).cc"
      printf '#include <%s>\n#include <%s>  // include guard\n' "$name" "$name" >"$tu"
      # Only the prefix on the include path: a project-internal include fails.
      "$cxx" -std=c++20 -fsyntax-only -Wall -Wextra $flags -I"$prefix/include" \
        -MD -MF "$tu.d" "$tu" 2>"$tu.log" ||
        { cat "$tu.log" >&2; fail "$name does not compile on its own against the installed headers"; }
      bad=$(tr -s ' \\' '\n\n' <"$tu.d" | grep -E '\.h(pp)?$' | grep -Ev "^$prefix/include/plumlog/" |
            grep -E "$forbidden" || true)
      [[ -z "$bad" ]] || fail "$name includes headers outside include/plumlog and the standard library: $bad"
      n=$((n + 1))
    done
    (( n > 0 )) || fail "no public headers installed"
    echo "ok: $n public headers are self-contained and include only plumlog/ and standard headers"
    ;;
  *) fail "unknown mode $mode" ;;
esac
