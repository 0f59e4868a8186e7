#!/bin/sh
# Drives the downstream tests (tests/CMakeLists.txt registers them):
#   run.sh install BUILD_DIR PREFIX
#       cmake --install the just-built dopt into a fresh PREFIX (the fixture)
#   run.sh cmake c|cxx PREFIX WORK_DIR COMPILER
#       configure and build tests/downstream/c|cxx with find_package(dopt)
#       against PREFIX, then run the program
#   run.sh pkgconfig c|cxx PREFIX WORK_DIR COMPILER LIBDIR
#       compile the same program with `pkg-config --cflags --libs dopt`
#       (PKG_CONFIG_PATH=PREFIX/LIBDIR/pkgconfig), then run it
#   run.sh interface PREFIX
#       the installed CMake package and dopt.pc carry no build-local flags
#       (-march=native, -Werror, sanitizers); no test-only library is installed
#   run.sh subdir DOPT_SOURCE_DIR WORK_DIR C_COMPILER [CMAKE_ARGS...]
#       a C project that builds dopt with add_subdirectory, then runs
# A missing C++ compiler or pkg-config is a skip (exit 77), saying so.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
cmake=${CMAKE_COMMAND:-cmake}
mode=$1
shift

case $mode in
install)
  build=$1 prefix=$2
  rm -rf "$prefix"
  exec "$cmake" --install "$build" --prefix "$prefix"
  ;;
cmake)
  lang=$1 prefix=$2 work=$3 compiler=$4
  if [ -z "$compiler" ] || [ "$compiler" = NOTFOUND ]; then
    echo "skipped: no $lang compiler"
    exit 77
  fi
  if [ "$lang" = c ]; then cvar=CMAKE_C_COMPILER; else cvar=CMAKE_CXX_COMPILER; fi
  rm -rf "$work"
  "$cmake" -S "$here/$lang" -B "$work" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_PREFIX_PATH="$prefix" -D$cvar="$compiler" >"$work.configure.log" 2>&1 \
    || { cat "$work.configure.log"; exit 1; }
  "$cmake" --build "$work"
  exec "$work/downstream_$lang"
  ;;
pkgconfig)
  lang=$1 prefix=$2 work=$3 compiler=$4 libdir=$5
  if [ -z "$compiler" ] || [ "$compiler" = NOTFOUND ]; then
    echo "skipped: no $lang compiler"
    exit 77
  fi
  if ! command -v pkg-config >/dev/null 2>&1; then
    echo "skipped: pkg-config not found"
    exit 77
  fi
  PKG_CONFIG_PATH="$prefix/$libdir/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
  export PKG_CONFIG_PATH
  flags=$(pkg-config --cflags --libs dopt)
  dir=$(pkg-config --variable=libdir dopt)
  echo "pkg-config --cflags --libs dopt: $flags"
  rm -rf "$work" && mkdir -p "$work"
  if [ "$lang" = c ]; then src=$here/c/main.c std=-std=c11; else src=$here/cxx/main.cpp std=-std=c++17; fi
  # shellcheck disable=SC2086 # $flags is a list of flags
  "$compiler" $std "$src" -o "$work/downstream_$lang" $flags "-Wl,-rpath,$dir"
  exec "$work/downstream_$lang"
  ;;
interface)
  prefix=$1
  files=$(find "$prefix" -name 'dopt*.cmake' -o -name 'dopt.pc')
  if [ -z "$files" ]; then
    echo "FAIL: no dopt*.cmake or dopt.pc under $prefix"
    exit 1
  fi
  # shellcheck disable=SC2086 # $files: paths without spaces (the build tree)
  if grep -nE -e '-march|-mtune|-Werror|-fsanitize' $files; then
    echo "FAIL: the installed interface carries build-local flags (above)"
    exit 1
  fi
  internal=$(find "$prefix" -name '*dopt_fixtures*' -o -name '*dopt_internal*' -o -name '*dopt_shared_probe*')
  if [ -n "$internal" ]; then
    echo "FAIL: build-internal libraries installed: $internal"
    exit 1
  fi
  echo "ok: no -march, -Werror or -fsanitize in $(echo "$files" | wc -l) installed interface files; no test fixtures installed"
  ;;
subdir)
  src=$1 work=$2 compiler=$3
  shift 3
  rm -rf "$work"
  "$cmake" -S "$here/subdir" -B "$work" -DCMAKE_BUILD_TYPE=Release -DDOPT_SOURCE_DIR="$src" \
    -DCMAKE_C_COMPILER="$compiler" "$@" >"$work.configure.log" 2>&1 \
    || { cat "$work.configure.log"; exit 1; }
  "$cmake" --build "$work" -j 2 >"$work.build.log" 2>&1 || { cat "$work.build.log"; exit 1; }
  exec "$work/downstream_subdir"
  ;;
*)
  echo "run.sh: unknown mode $mode" >&2
  exit 2
  ;;
esac
