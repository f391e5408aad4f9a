# Debian 12's xsimd 8.1 exports target `xsimd` with link item `xtl`, but Debian
# ships no libxtl-dev: linking `xsimd` then fails with "cannot find -lxtl".
# An empty imported `xtl` target satisfies the link item. Installed with mixq.
if(TARGET xsimd AND NOT TARGET xtl)
  get_target_property(_mixq_xsimd_links xsimd INTERFACE_LINK_LIBRARIES)
  if(_mixq_xsimd_links AND "xtl" IN_LIST _mixq_xsimd_links)
    find_package(xtl QUIET)
    if(NOT TARGET xtl)
      add_library(xtl INTERFACE IMPORTED)
    endif()
  endif()
  unset(_mixq_xsimd_links)
endif()
