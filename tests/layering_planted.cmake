# Proves layering_check.cmake can fail: copies the layers into WORK_DIR, plants one
# violation of each rule and expects the check to fail naming every planted file.
#   cmake -DSOURCE_DIR=<tree> -DWORK_DIR=<scratch> -P layering_planted.cmake
file(REMOVE_RECURSE ${WORK_DIR})
foreach(layer events actors adapters)
  file(COPY ${SOURCE_DIR}/${layer} DESTINATION ${WORK_DIR})
endforeach()
file(APPEND ${WORK_DIR}/events/clock.cpp "\n#include <caf/all.hpp>\n")
file(APPEND ${WORK_DIR}/actors/journal.cpp "\n#include \"adapters/postgres/pg_support.hpp\"\n")
file(APPEND ${WORK_DIR}/adapters/git/git_command.cpp "\n#include \"actors/messages.hpp\"\n")
execute_process(COMMAND ${CMAKE_COMMAND} -DSOURCE_DIR=${WORK_DIR} -P ${CMAKE_CURRENT_LIST_DIR}/layering_check.cmake
                RESULT_VARIABLE code OUTPUT_VARIABLE out ERROR_VARIABLE err)
file(REMOVE_RECURSE ${WORK_DIR})
if(code EQUAL 0)
  message(FATAL_ERROR "the layering check passed a tree with planted violations:\n${out}${err}")
endif()
foreach(planted events/clock.cpp actors/journal.cpp adapters/git/git_command.cpp)
  string(FIND "${err}" "${planted}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "the layering check missed the violation planted in ${planted}:\n${err}")
  endif()
endforeach()
message(STATUS "layering check caught every planted violation")
