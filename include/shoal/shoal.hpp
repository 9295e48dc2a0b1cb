#pragma once
/// @file
/// @brief The whole public API of shoal.

#include "shoal/context.hpp"
#include "shoal/datasets.hpp"
#include "shoal/distance.hpp"
#include "shoal/error.hpp"
#include "shoal/hdbscan.hpp"
#include "shoal/io.hpp"
#include "shoal/kmeans.hpp"
#include "shoal/matrix.hpp"
#include "shoal/metrics.hpp"
#include "shoal/neighbors.hpp"
#include "shoal/system.hpp"
