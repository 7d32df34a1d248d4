# cmake -DFUZZER=path -DSEEDS=dir -DWORK=dir -DSECONDS=n [-DDICT=file] -P run_fuzz.cmake
#
# A bounded libFuzzer run for ctest: copies the seed corpus into WORK/corpus
# (fresh each time, libFuzzer adds what it finds there; the source tree is
# never written), fuzzes for SECONDS seconds and fails if the fuzzer reports
# a crash, a leak, a timeout or an invariant violation. Reproducers land in
# WORK/artifacts/.
foreach(var FUZZER SEEDS WORK SECONDS)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run_fuzz.cmake: -D${var}= is required")
  endif()
endforeach()

file(REMOVE_RECURSE ${WORK}/corpus ${WORK}/artifacts)
file(MAKE_DIRECTORY ${WORK}/corpus ${WORK}/artifacts)
file(GLOB seeds LIST_DIRECTORIES false ${SEEDS}/*)
if(NOT seeds)
  message(FATAL_ERROR "run_fuzz.cmake: no seeds in ${SEEDS}")
endif()
file(COPY ${seeds} DESTINATION ${WORK}/corpus)

set(dict_arg)
if(DICT)
  set(dict_arg -dict=${DICT})
endif()

execute_process(
  COMMAND ${FUZZER} ${WORK}/corpus ${dict_arg}
          -max_total_time=${SECONDS} -max_len=65536 -timeout=10 -rss_limit_mb=2048
          -artifact_prefix=${WORK}/artifacts/ -print_final_stats=1
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "fuzz_framer failed (${rc}); reproducers in ${WORK}/artifacts/")
endif()
