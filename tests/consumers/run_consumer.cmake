# Builds and runs an outside consumer of mixq: MODE=installed (install to a scratch prefix,
# then find_package) or MODE=subdir (add_subdirectory of the source tree).
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})
if(MODE STREQUAL "installed")
  execute_process(COMMAND ${CMAKE_COMMAND} --install ${MIXQ_BINARY_DIR} --prefix ${WORK_DIR}/prefix
                  COMMAND_ERROR_IS_FATAL ANY)
  set(src ${MIXQ_SOURCE_DIR}/tests/consumers/installed)
  set(extra -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF)
else()
  set(src ${MIXQ_SOURCE_DIR}/tests/consumers/subdir)
  set(extra -DMIXQ_SOURCE_DIR=${MIXQ_SOURCE_DIR})
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -S ${src} -B ${WORK_DIR}/build -DCMAKE_CXX_COMPILER=${CXX} ${extra}
                COMMAND_ERROR_IS_FATAL ANY)
execute_process(COMMAND ${CMAKE_COMMAND} --build ${WORK_DIR}/build COMMAND_ERROR_IS_FATAL ANY)
execute_process(COMMAND ${WORK_DIR}/build/consumer COMMAND_ERROR_IS_FATAL ANY)
