# Fails when a folder includes what its layer may not: events/ stays standard-library
# only, and actors/ and adapters/ never include each other. Runs as part of every build
# (target `layering`, which the libraries depend on) and as a test; a second test plants
# a violation in a copy of events/ and expects this script to fail.
#   cmake -DSOURCE_DIR=<tree> -P layering_check.cmake
file(GLOB_RECURSE events_files ${SOURCE_DIR}/events/*.hpp ${SOURCE_DIR}/events/*.cpp)
file(GLOB_RECURSE actors_files ${SOURCE_DIR}/actors/*.hpp ${SOURCE_DIR}/actors/*.cpp)
file(GLOB_RECURSE adapters_files ${SOURCE_DIR}/adapters/*.hpp ${SOURCE_DIR}/adapters/*.cpp)

set(violations "")
# Appends to the caller's `violations`: the local copy collects, the last line hands it up.
function(check files pattern why)
  foreach(f ${files})
    file(STRINGS ${f} lines REGEX "^[ \t]*#[ \t]*include")
    foreach(line ${lines})
      if(line MATCHES "${pattern}")
        file(RELATIVE_PATH rel ${SOURCE_DIR} ${f})
        set(violations "${violations}\n  ${rel}: ${line} (${why})")
      endif()
    endforeach()
  endforeach()
  set(violations "${violations}" PARENT_SCOPE)
endfunction()

check("${events_files}" "[<\"](caf|pqxx|librdkafka|rdkafka|restinio|nlohmann|asio|curl|openssl|jwt|spdlog|fmt)[/.]" "events/ is standard-library only")
check("${actors_files}" "[<\"]adapters/" "actors/ must not include adapters/")
check("${adapters_files}" "[<\"]actors/" "adapters/ must not include actors/")

list(LENGTH events_files n_events)
if(n_events EQUAL 0)
  message(FATAL_ERROR "layering check found no files under ${SOURCE_DIR}/events")
endif()
if(violations)
  message(FATAL_ERROR "layering violations:${violations}")
endif()
message(STATUS "layering ok: ${n_events} files in events/ checked")
