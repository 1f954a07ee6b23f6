# Sanitizer and fuzzing builds (clang; see scripts/reliability/). Options:
#   MTST_SANITIZE="address,undefined" | "thread"  instruments every target (the libraries linked
#                                                 in, libtorch among them, are not instrumented)
#   MTST_FUZZ=ON   adds libFuzzer's coverage to the code and one executable per fuzz/T_fuzz.cpp
#                  (fuzz_T), linked against mtst_core
# Both are off in the normal build.
set(MTST_SANITIZE "" CACHE STRING "Sanitizers for every target: address,undefined or thread")
option(MTST_FUZZ "Build the libFuzzer targets of fuzz/ (clang only)" OFF)

if(MTST_SANITIZE)
  add_compile_options(-fsanitize=${MTST_SANITIZE} -fno-omit-frame-pointer -g)
  if(MTST_SANITIZE MATCHES "undefined")
    # A report is a failure, not a line in a log that a passing test hides.
    add_compile_options(-fno-sanitize-recover=undefined)
  endif()
  add_link_options(-fsanitize=${MTST_SANITIZE})
endif()
if(MTST_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "MTST_FUZZ needs clang (libFuzzer): configure with CXX=clang++-14")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()

# Called after mtst_core exists.
function(mtst_add_fuzz_targets)
  if(NOT MTST_FUZZ)
    return()
  endif()
  file(GLOB fuzz_sources CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/fuzz/*_fuzz.cpp)
  foreach(source ${fuzz_sources})
    get_filename_component(name ${source} NAME_WE)
    string(REGEX REPLACE "_fuzz$" "" name ${name})
    add_executable(fuzz_${name} ${source})
    target_include_directories(fuzz_${name} PRIVATE ${PROJECT_SOURCE_DIR}/src
                                                    ${PROJECT_SOURCE_DIR}/fuzz)
    target_link_libraries(fuzz_${name} PRIVATE mtst_core)
    target_link_options(fuzz_${name} PRIVATE -fsanitize=fuzzer)
    target_compile_definitions(fuzz_${name} PRIVATE
      MTST_FIXTURES_DIR="${PROJECT_SOURCE_DIR}/tests/fixtures")
  endforeach()
endfunction()
