# cmake -DSERVER=<chronik-server> -DOUT_DIR=<dir> -DVERSION=<x.y.z> -P generate_docs.cmake
# Writes OUT_DIR/chronik-server.bash (`chronik-server completion`) and OUT_DIR/chronik-server.1.gz: a
# man page whose body is `chronik-server --help-all`, the help of every subcommand with the exit
# codes, signals, environment and files (daemon/usage_footer.h). One source for --help, the man page
# and the completion: the CLI11 definition in daemon/main.cc.
foreach(var SERVER OUT_DIR VERSION)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "generate_docs.cmake: -D${var}= is required")
  endif()
endforeach()

execute_process(COMMAND ${SERVER} completion OUTPUT_FILE ${OUT_DIR}/chronik-server.bash.new
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${SERVER} completion failed: ${rc}")
endif()
file(RENAME ${OUT_DIR}/chronik-server.bash.new ${OUT_DIR}/chronik-server.bash)

execute_process(COMMAND ${SERVER} --help-all OUTPUT_VARIABLE help RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${SERVER} --help-all failed: ${rc}")
endif()
# roff: a backslash is \e; a line starting with . or ' would be a request, \& keeps it text.
string(REPLACE "\\" "\\e" help "${help}")
string(REGEX REPLACE "(^|\n)([.'])" "\\1\\\\&\\2" help "${help}")
file(WRITE ${OUT_DIR}/chronik-server.1
".TH CHRONIK-SERVER 1 \"\" \"chronik ${VERSION}\" \"User Commands\"
.SH NAME
chronik-server \\- run and administer a node of a chronik cluster (a Kafka-compatible broker)
.SH SYNOPSIS
.B chronik-server
.I subcommand
[\\fIoptions\\fR]
.SH DESCRIPTION
The output of \\fBchronik-server --help-all\\fR: every subcommand and its options.
.PP
.nf
${help}
.fi
.SH SEE ALSO
/usr/share/doc/chronik-server/operations.md, config.md and security.md; systemctl(1) for
chronik.service.
")
execute_process(COMMAND gzip -9nf ${OUT_DIR}/chronik-server.1 RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "gzip failed: ${rc}")
endif()
