# Compiler flags for per-ISA kernel translation units (runtime dispatch, see
# include/mixq/kernel/dispatch.hpp). Explicit -m lists, never -march=native; each list starts
# from -march=x86-64 so it also overrides a -march=native set elsewhere.
#   mixq_isa_flags(<generic|avx2|avx512|avx512_vnni> <out-var>)
# On non-x86 targets every ISA but generic yields MIXQ_ISA_UNSUPPORTED.
function(mixq_isa_flags isa out)
  if(NOT CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64|i.86)$")
    if(isa STREQUAL "generic")
      set(${out} "-DMIXQ_KERNEL_FORCE_GENERIC" PARENT_SCOPE)
    else()
      set(${out} "MIXQ_ISA_UNSUPPORTED" PARENT_SCOPE)
    endif()
    return()
  endif()
  set(_base -march=x86-64 -mtune=generic)
  if(isa STREQUAL "generic")
    set(_f ${_base} -DMIXQ_KERNEL_FORCE_GENERIC)
  elseif(isa STREQUAL "avx2")
    set(_f ${_base} -mavx2 -mfma -mf16c -mbmi -mbmi2)
  elseif(isa STREQUAL "avx512")
    set(_f ${_base} -mavx2 -mfma -mf16c -mbmi -mbmi2 -mavx512f -mavx512cd -mavx512bw -mavx512dq -mavx512vl)
  elseif(isa STREQUAL "avx512_vnni")
    set(_f ${_base} -mavx2 -mfma -mf16c -mbmi -mbmi2 -mavx512f -mavx512cd -mavx512bw -mavx512dq -mavx512vl
           -mavx512vnni -mavx512vbmi)
  else()
    message(FATAL_ERROR "mixq_isa_flags: unknown ISA '${isa}' (generic, avx2, avx512, avx512_vnni)")
  endif()
  set(${out} ${_f} PARENT_SCOPE)
endfunction()

# Adds OBJECT library <target> built from <source> with the flags of <isa>; -O2 even in Debug
# so fewer helpers are emitted out of line. The flags are a source property, which CMake puts
# after every target and interface option, so they win over a -march=native set elsewhere.
function(mixq_add_isa_object target isa source)
  mixq_isa_flags(${isa} _flags)
  add_library(${target} OBJECT ${source})
  set_source_files_properties(${source} PROPERTIES COMPILE_OPTIONS "${_flags};-O2")
endfunction()
