# Read by cpack (CPACK_PROJECT_CONFIG_FILE, set in packaging/deb.cmake) once per generator.
if(CPACK_GENERATOR STREQUAL "DEB")
  # The .deb is only right for the prefix /usr (its units run /usr/bin/camwatch): refuse others.
  if(NOT CPACK_CAMWATCH_INSTALL_PREFIX STREQUAL "/usr")
    message(FATAL_ERROR "camwatch: the .deb needs a build configured with -DCMAKE_INSTALL_PREFIX=/usr "
      "(this one has ${CPACK_CAMWATCH_INSTALL_PREFIX})")
  endif()
  # Plus the files only the .deb has: Debian changelog, changelog.gz, lintian overrides.
  list(GET CPACK_INSTALL_CMAKE_PROJECTS 0 camwatch_build_dir)
  list(APPEND CPACK_INSTALL_CMAKE_PROJECTS "${camwatch_build_dir}" camwatch deb /)
endif()
