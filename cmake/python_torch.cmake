# The libtorch of the torch wheel installed in the Python environment the package is built
# for, linked as PyTorch's own C++ extensions link it (torch.utils.cpp_extension): its
# headers and libraries directly. TorchConfig.cmake is not used: for a CUDA-enabled wheel it
# wants a CUDA toolkit, which an extension that only calls ATen does not need.
#
# An isolated build (plain `pip install .`) cannot import torch as it is: pip hides the
# environment's site-packages behind PYTHONPATH hooks. The target environment's torch is found
# by running its interpreter again without them. MTST_TORCH_ROOT (the directory of
# torch/__init__.py) overrides the search.
set(MTST_TORCH_ROOT "$ENV{MTST_TORCH_ROOT}" CACHE PATH "torch package directory (default: found)")
if(NOT MTST_TORCH_ROOT)
  execute_process(
    COMMAND ${CMAKE_COMMAND} -E env --unset=PYTHONPATH --unset=PYTHONNOUSERSITE
            "${Python_EXECUTABLE}" -c
            "import importlib.util, os; print(os.path.dirname(importlib.util.find_spec('torch').origin))"
    OUTPUT_VARIABLE MTST_TORCH_ROOT OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
endif()
if(NOT MTST_TORCH_ROOT OR NOT EXISTS "${MTST_TORCH_ROOT}/lib/libtorch_cpu.so")
  message(FATAL_ERROR "mtst's Python package builds against the torch installed in the same "
                      "environment, and none was found for ${Python_EXECUTABLE}: install torch "
                      "first (pip install torch), or set MTST_TORCH_ROOT")
endif()
message(STATUS "torch for the Python package: ${MTST_TORCH_ROOT}")

add_library(mtst_torch INTERFACE)
target_include_directories(mtst_torch SYSTEM INTERFACE
  ${MTST_TORCH_ROOT}/include ${MTST_TORCH_ROOT}/include/torch/csrc/api/include)
target_link_directories(mtst_torch INTERFACE ${MTST_TORCH_ROOT}/lib)
target_link_libraries(mtst_torch INTERFACE c10 torch_cpu torch)
# Wheels built with the pre-C++11 string ABI say so in their CMake config (torch < 2.7).
file(GLOB mtst_torch_configs ${MTST_TORCH_ROOT}/share/cmake/Caffe2/*.cmake
     ${MTST_TORCH_ROOT}/share/cmake/Torch/*.cmake)
foreach(config ${mtst_torch_configs})
  file(STRINGS ${config} old_abi REGEX "_GLIBCXX_USE_CXX11_ABI=0")
  if(old_abi)
    target_compile_definitions(mtst_torch INTERFACE _GLIBCXX_USE_CXX11_ABI=0)
    break()
  endif()
endforeach()
set(TORCH_LIBRARIES mtst_torch)
