# chronik_strict(<target>): the warning set and sanitizer flags applied to our own code only.
# Generated code (protobuf) and third-party headers are compiled without -Werror.
function(chronik_strict target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Werror -Wno-missing-field-initializers)
  if(CHRONIK_SANITIZE)
    # GCC 12 reports -Wmaybe-uninitialized false positives inside std::variant when ASan and
    # optimization are combined; the plain build keeps the warning as an error.
    target_compile_options(${target} PRIVATE -fsanitize=address,undefined -fno-omit-frame-pointer
                                             -fno-sanitize-recover=undefined -Wno-maybe-uninitialized)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined)
  endif()
endfunction()

# Sanitized binaries must also link the runtime even when only a dependency was instrumented.
function(chronik_sanitize_link target)
  if(CHRONIK_SANITIZE)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined)
  endif()
endfunction()
