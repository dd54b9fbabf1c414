# cgfence_bpf_skeleton(NAME SOURCE [DEFINES d1 d2 ...])
#
# Compiles SOURCE (a .bpf.c file) with clang for the BPF target into
# NAME.bpf.o and generates NAME.skel.h from it with `bpftool gen skeleton`.
# Defines the INTERFACE target NAME_skel whose include directory holds the
# skeleton; link it to use the skeleton.
find_program(CGFENCE_CLANG NAMES clang clang-16 clang-15 clang-14 REQUIRED)
find_program(CGFENCE_BPFTOOL NAMES bpftool PATHS /usr/sbin /sbin REQUIRED)

execute_process(COMMAND ${CMAKE_C_COMPILER} -print-multiarch
                OUTPUT_VARIABLE CGFENCE_MULTIARCH OUTPUT_STRIP_TRAILING_WHITESPACE
                ERROR_QUIET)

function(cgfence_bpf_skeleton name source)
  cmake_parse_arguments(ARG "" "" "DEFINES" ${ARGN})
  set(object ${CMAKE_CURRENT_BINARY_DIR}/${name}.bpf.o)
  set(skeleton ${CMAKE_CURRENT_BINARY_DIR}/skel/${name}.skel.h)
  set(defines)
  foreach(d IN LISTS ARG_DEFINES)
    list(APPEND defines -D${d})
  endforeach()
  set(multiarch_include)
  if(CGFENCE_MULTIARCH)
    set(multiarch_include -idirafter /usr/include/${CGFENCE_MULTIARCH})
  endif()
  add_custom_command(
    OUTPUT ${object}
    COMMAND ${CGFENCE_CLANG} -g -O2 -target bpf -D__TARGET_ARCH_x86 -Wall -Werror
            ${defines} -I${CMAKE_CURRENT_SOURCE_DIR} ${multiarch_include}
            -c ${CMAKE_CURRENT_SOURCE_DIR}/${source} -o ${object}
    DEPENDS ${source} ${CMAKE_CURRENT_SOURCE_DIR}/cgfence_abi.h
            ${CMAKE_CURRENT_SOURCE_DIR}/kernel_types.h
    COMMENT "BPF ${name}.bpf.o"
    VERBATIM)
  add_custom_command(
    OUTPUT ${skeleton}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_CURRENT_BINARY_DIR}/skel
    COMMAND ${CGFENCE_BPFTOOL} gen skeleton ${object} name ${name} > ${skeleton}
    DEPENDS ${object}
    COMMENT "BPF skeleton ${name}.skel.h"
    VERBATIM)
  add_custom_target(${name}_skel_gen DEPENDS ${skeleton})
  add_library(${name}_skel INTERFACE)
  add_dependencies(${name}_skel ${name}_skel_gen)
  target_include_directories(${name}_skel INTERFACE ${CMAKE_CURRENT_BINARY_DIR}/skel)
endfunction()
