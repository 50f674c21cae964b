# CMake package file of the chatwire C library, installed as PREFIX/lib/cmake/chatwire/ by
# bindings/c/install.sh. Use it with one line after find_package:
#
#   find_package(chatwire REQUIRED)                 # CMAKE_PREFIX_PATH=PREFIX if not a system prefix
#   target_link_libraries(app PRIVATE chatwire::chatwire)          # shared library
#   target_link_libraries(app PRIVATE chatwire::chatwire_static)   # or the static one
#
# Both targets carry the include directory (chatwire.h); the static one also the system
# libraries the Rust standard library needs.
get_filename_component(_chatwire_prefix "${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)

if(NOT TARGET chatwire::chatwire)
  add_library(chatwire::chatwire SHARED IMPORTED)
  set_target_properties(chatwire::chatwire PROPERTIES
    IMPORTED_LOCATION "${_chatwire_prefix}/lib/libchatwire_ffi.so"
    IMPORTED_SONAME "libchatwire_ffi.so"
    INTERFACE_INCLUDE_DIRECTORIES "${_chatwire_prefix}/include")
endif()

if(NOT TARGET chatwire::chatwire_static AND EXISTS "${_chatwire_prefix}/lib/libchatwire_ffi.a")
  find_package(Threads REQUIRED)
  add_library(chatwire::chatwire_static STATIC IMPORTED)
  set_target_properties(chatwire::chatwire_static PROPERTIES
    IMPORTED_LOCATION "${_chatwire_prefix}/lib/libchatwire_ffi.a"
    INTERFACE_INCLUDE_DIRECTORIES "${_chatwire_prefix}/include"
    INTERFACE_LINK_LIBRARIES "Threads::Threads;${CMAKE_DL_LIBS};m;rt;util;gcc_s")
endif()

set(chatwire_INCLUDE_DIRS "${_chatwire_prefix}/include")
set(chatwire_LIBRARIES chatwire::chatwire)
unset(_chatwire_prefix)
