# SHOAL_SANITIZE=ON instruments every C++ target with ASan and UBSan (the asan preset).
# UBSan is made fatal so a test run fails on the first report instead of printing and going on.
if(SHOAL_SANITIZE)
  if(NOT SHOAL_CUDA STREQUAL "OFF")
    message(FATAL_ERROR "SHOAL_SANITIZE applies to the CPU build: configure it with SHOAL_CUDA=OFF")
  endif()
  set(_shoal_san -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
  add_compile_options("$<$<COMPILE_LANGUAGE:CXX>:${_shoal_san}>")
  add_link_options(${_shoal_san})
endif()
