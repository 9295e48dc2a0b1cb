#pragma once
/// @file
/// @brief The exceptions shoal throws. Every one derives from shoal::Error.

#include <stdexcept>
#include <string>

namespace shoal {

/// @brief Base of every exception thrown by the library.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// @brief A caller's mistake: a bad parameter, a shape mismatch, non-finite data.
/// The message names the offending value.
class InvalidArgument : public Error {
 public:
  using Error::Error;
};

/// @brief A file could not be read or written. The message names the file and, for
/// malformed content, the line or byte offset.
class IoError : public Error {
 public:
  using Error::Error;
};

/// @brief Host or device memory ran out, or a job does not fit the memory budget.
class OutOfMemory : public Error {
 public:
  using Error::Error;
};

/// @brief A CUDA device was asked for and is missing, or a CUDA/cuBLAS call failed.
class DeviceError : public Error {
 public:
  using Error::Error;
};

}  // namespace shoal
