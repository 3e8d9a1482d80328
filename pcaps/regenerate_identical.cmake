# cmake -DGENERATOR=... -DCOMMITTED=pcaps/ -DSCRATCH=dir -P regenerate_identical.cmake
# Fails unless the generator writes exactly the committed files, byte for byte.
cmake_minimum_required(VERSION 3.25)
foreach(var GENERATOR COMMITTED SCRATCH)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "regenerate_identical: -D${var}=... is required")
  endif()
endforeach()

file(REMOVE_RECURSE "${SCRATCH}")
file(MAKE_DIRECTORY "${SCRATCH}")
execute_process(COMMAND "${GENERATOR}" "${SCRATCH}" RESULT_VARIABLE rc OUTPUT_QUIET)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "regenerate_identical: ${GENERATOR} failed (${rc})")
endif()

file(GLOB_RECURSE generated RELATIVE "${SCRATCH}" "${SCRATCH}/*.pcap" "${SCRATCH}/expected/*.jsonl"
  "${SCRATCH}/expected/*.toml")
file(GLOB_RECURSE committed RELATIVE "${COMMITTED}" "${COMMITTED}/*.pcap" "${COMMITTED}/expected/*.jsonl"
  "${COMMITTED}/expected/*.toml")
list(SORT generated)
list(SORT committed)

set(problems "")
foreach(f IN LISTS generated)
  if(NOT f IN_LIST committed)
    string(APPEND problems "  not committed: pcaps/${f}\n")
  else()
    execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files "${SCRATCH}/${f}" "${COMMITTED}/${f}"
                    RESULT_VARIABLE differs)
    if(NOT differs EQUAL 0)
      string(APPEND problems "  differs: pcaps/${f}\n")
    endif()
  endif()
endforeach()
foreach(f IN LISTS committed)
  if(NOT f IN_LIST generated)
    string(APPEND problems "  committed but no longer generated: pcaps/${f}\n")
  endif()
endforeach()

if(problems)
  message(FATAL_ERROR "regenerate_identical: the committed captures do not match the generator:\n"
                      "${problems}Run `cmake --build <build> --target pcaps-regenerate` and review.")
endif()
list(LENGTH generated n)
message(STATUS "regenerate_identical: ${n} files identical")
