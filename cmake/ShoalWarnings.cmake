# shoal_set_warnings(<target>): the warning set every shoal target compiles with.
function(shoal_set_warnings target)
  target_compile_options(${target} PRIVATE
    $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wno-sign-conversion
    -Wno-missing-field-initializers  # designated initialisers leave the rest at their defaults
    $<$<CXX_COMPILER_ID:GNU>:-Wno-restrict>>  # GCC 12 false positive on std::string concatenation (PR 105329)
    $<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=-Wall --expt-relaxed-constexpr>)
endfunction()
