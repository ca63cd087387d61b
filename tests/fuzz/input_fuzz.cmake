# The input-boundary fuzz targets of issue 13 (fuzz_entries.h): Kafka requests, produced record
# batches, gossip envelopes, Raft RPC batches and the TOML config. Every compiler builds the
# entries into fuzz_smoke (make test); clang >= 19 also builds one libFuzzer binary per target
# (make fuzz), with only the code under test compiled again with coverage instrumentation.
if(NOT TARGET chronik_daemon OR NOT TARGET chronik_consensus_transport)
  return()
endif()

set(fuzz_targets kafka_request kafka_message record_batch gossip raft_batch config)
set(fuzz_entry_srcs)
foreach(t IN LISTS fuzz_targets)
  list(APPEND fuzz_entry_srcs ${t}_fuzz_entry.cc)
endforeach()

add_executable(fuzz_smoke fuzz_smoke_test.cc ${fuzz_entry_srcs})
target_include_directories(fuzz_smoke PRIVATE ${PROJECT_SOURCE_DIR})
target_link_libraries(fuzz_smoke PRIVATE chronik_kafka_protocol chronik_gossip_net chronik_consensus_transport
                                         chronik_daemon GTest::gtest_main)
target_compile_definitions(fuzz_smoke PRIVATE CHRONIK_FUZZ_CORPUS_DIR="${CMAKE_CURRENT_SOURCE_DIR}/corpus")
chronik_strict(fuzz_smoke)
# Labelled unit as well so the sanitizer pass (ctest -L 'unit|sim') runs it too.
gtest_discover_tests(fuzz_smoke PROPERTIES LABELS "fuzz;unit" DISCOVERY_TIMEOUT 60)

# Writes the generated seeds (corpus_generator.cc); run by hand when an encoding changes.
add_executable(fuzz_corpus_generator corpus_generator.cc)
target_link_libraries(fuzz_corpus_generator PRIVATE chronik_kafka_message_samples chronik_gossip_net
                                                    chronik_consensus_transport)
chronik_strict(fuzz_corpus_generator)

if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang" OR CMAKE_CXX_COMPILER_VERSION VERSION_LESS 19)
  return()
endif()

# The sources of `lib`, as absolute paths, for compiling them again instrumented.
function(chronik_sources_of lib out)
  get_target_property(srcs ${lib} SOURCES)
  get_target_property(dir ${lib} SOURCE_DIR)
  list(FILTER srcs INCLUDE REGEX "\\.cc$")
  # Generated sources (the Kafka message codecs) are absolute already.
  list(TRANSFORM srcs REPLACE "^([^/])" "${dir}/\\1")
  set(${out} ${srcs} PARENT_SCOPE)
endfunction()

set(fuzz_compile_flags -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined)
set(fuzz_link_flags -fsanitize=fuzzer,address,undefined)

# The code under test, instrumented once per module and shared by the binaries that need it.
function(chronik_fuzz_objects name)
  cmake_parse_arguments(F "" "" "SOURCES;LIBS" ${ARGN})
  add_library(${name} OBJECT ${F_SOURCES})
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR} ${PROJECT_BINARY_DIR}/generated)
  add_dependencies(${name} chronik_kafka_codegen)
  target_link_libraries(${name} PRIVATE ${F_LIBS})
  target_compile_options(${name} PRIVATE ${fuzz_compile_flags})
  chronik_strict(${name})
endfunction()

chronik_sources_of(chronik_kafka_protocol kafka_srcs)
chronik_fuzz_objects(fuzz_kafka_protocol SOURCES ${kafka_srcs}
                     LIBS PkgConfig::ZLIB PkgConfig::SNAPPY PkgConfig::LZ4 PkgConfig::ZSTD)
chronik_sources_of(chronik_gossip_core gossip_core_srcs)
chronik_fuzz_objects(fuzz_gossip SOURCES ${gossip_core_srcs} ${PROJECT_SOURCE_DIR}/gossip/net/codec.cc
                     LIBS chronik_proto)
# capnp 0.9.2 headers need two operators under clang >= 16 (capnp_clang_compat.h says why).
set(capnp_compat -include ${CMAKE_CURRENT_SOURCE_DIR}/capnp_clang_compat.h)
target_compile_options(chronik_schemas PRIVATE ${capnp_compat})
chronik_fuzz_objects(fuzz_raft_codec SOURCES ${PROJECT_SOURCE_DIR}/consensus/transport/codec.cc
                     LIBS chronik_schemas)
target_compile_options(fuzz_raft_codec PRIVATE ${capnp_compat})
chronik_fuzz_objects(fuzz_config SOURCES ${PROJECT_SOURCE_DIR}/daemon/config.cc LIBS toml11::toml11)

# chronik_fuzzer(<target> OBJECTS <instrumented object library> LIBS <linked as they are>)
function(chronik_fuzzer t)
  cmake_parse_arguments(F "" "" "OBJECTS;LIBS;EXTRA" ${ARGN})
  add_executable(${t}_fuzz fuzz_main.cc ${t}_fuzz_entry.cc ${F_EXTRA} $<TARGET_OBJECTS:${F_OBJECTS}>)
  target_include_directories(${t}_fuzz PRIVATE ${PROJECT_SOURCE_DIR} ${PROJECT_BINARY_DIR}/generated)
  add_dependencies(${t}_fuzz chronik_kafka_codegen)
  target_compile_definitions(${t}_fuzz PRIVATE CHRONIK_FUZZ_ENTRY=${t}_run)
  target_link_libraries(${t}_fuzz PRIVATE ${F_LIBS})
  target_compile_options(${t}_fuzz PRIVATE ${fuzz_compile_flags})
  target_link_options(${t}_fuzz PRIVATE ${fuzz_link_flags})
  chronik_strict(${t}_fuzz)
endfunction()

set(kafka_libs PkgConfig::ZLIB PkgConfig::SNAPPY PkgConfig::LZ4 PkgConfig::ZSTD)
# kafka_request shares kafka_message's oracle (reencode_twice).
chronik_fuzzer(kafka_request OBJECTS fuzz_kafka_protocol LIBS ${kafka_libs} EXTRA kafka_message_fuzz_entry.cc)
chronik_fuzzer(kafka_message OBJECTS fuzz_kafka_protocol LIBS ${kafka_libs})
chronik_fuzzer(record_batch OBJECTS fuzz_kafka_protocol LIBS ${kafka_libs})
chronik_fuzzer(gossip OBJECTS fuzz_gossip LIBS chronik_proto chronik_gossip_keyring)
chronik_fuzzer(raft_batch OBJECTS fuzz_raft_codec LIBS chronik_consensus_core chronik_schemas)
target_compile_options(raft_batch_fuzz PRIVATE ${capnp_compat})
chronik_fuzzer(config OBJECTS fuzz_config LIBS chronik_gossip_core chronik_gossip_keyring toml11::toml11)
