# ctest's readme_example: the README shows docs/examples/library_example.cpp verbatim, so the
# code a reader copies is the code the install_consumer test builds and runs.
file(READ "${README}" readme)
file(READ "${EXAMPLE}" example)
string(FIND "${readme}" "${example}" at)
if(at EQUAL -1)
  message(FATAL_ERROR "README.md does not contain ${EXAMPLE} verbatim; paste the file into the README again")
endif()
