# cgfence_bpf_skeleton(NAME SOURCE [TARGET target] [DEFINES d1 d2 ...])
#
# Compiles SOURCE (a .bpf.c file) with clang for the BPF target and generates
# NAME.skel.h from it with `bpftool gen skeleton`. Defines the INTERFACE
# target TARGET (default NAME_skel) whose include directory holds the
# skeleton; link it to use the skeleton. Two targets may build one NAME with
# different DEFINES (the upgrade test's second build).
find_program(CGFENCE_CLANG NAMES clang clang-16 clang-15 clang-14 REQUIRED)
find_program(CGFENCE_BPFTOOL NAMES bpftool PATHS /usr/sbin /sbin REQUIRED)
set(CGFENCE_BPF_INCLUDE_DIR ${CMAKE_CURRENT_LIST_DIR} CACHE INTERNAL "cgfence's BPF headers")
execute_process(COMMAND ${CMAKE_C_COMPILER} -print-multiarch
                OUTPUT_VARIABLE multiarch OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
set(CGFENCE_BPF_MULTIARCH "${multiarch}" CACHE INTERNAL "multiarch include dir for BPF builds")

function(cgfence_bpf_skeleton name source)
  cmake_parse_arguments(ARG "" "TARGET" "DEFINES" ${ARGN})
  if(NOT ARG_TARGET)
    set(ARG_TARGET ${name}_skel)
  endif()
  set(out ${CMAKE_CURRENT_BINARY_DIR}/${ARG_TARGET})
  set(object ${out}/${name}.bpf.o)
  set(skeleton ${out}/${name}.skel.h)
  set(defines)
  foreach(d IN LISTS ARG_DEFINES)
    list(APPEND defines -D${d})
  endforeach()
  set(multiarch_include)
  if(CGFENCE_BPF_MULTIARCH)
    set(multiarch_include -idirafter /usr/include/${CGFENCE_BPF_MULTIARCH})
  endif()
  add_custom_command(
    OUTPUT ${object}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${out}
    COMMAND ${CGFENCE_CLANG} -g -O2 -target bpf -D__TARGET_ARCH_x86 -Wall -Werror
            ${defines} -I${CGFENCE_BPF_INCLUDE_DIR} ${multiarch_include}
            -c ${CMAKE_CURRENT_SOURCE_DIR}/${source} -o ${object}
    DEPENDS ${source} ${CGFENCE_BPF_INCLUDE_DIR}/cgfence_abi.h
            ${CGFENCE_BPF_INCLUDE_DIR}/kernel_types.h
    COMMENT "BPF ${ARG_TARGET}/${name}.bpf.o"
    VERBATIM)
  add_custom_command(
    OUTPUT ${skeleton}
    COMMAND ${CGFENCE_BPFTOOL} gen skeleton ${object} name ${name} > ${skeleton}
    DEPENDS ${object}
    COMMENT "BPF skeleton ${ARG_TARGET}/${name}.skel.h"
    VERBATIM)
  add_custom_target(${ARG_TARGET}_gen DEPENDS ${skeleton})
  add_library(${ARG_TARGET} INTERFACE)
  add_dependencies(${ARG_TARGET} ${ARG_TARGET}_gen)
  target_include_directories(${ARG_TARGET} INTERFACE ${out})
endfunction()
