# Install-time part of the top-level CMakeLists.txt: installs the default configuration
# config/camwatch.toml as <sysconfdir>/camwatch/camwatch.toml, never replacing one that differs.
#
# Runs inside cmake_install.cmake, so CMAKE_INSTALL_PREFIX is the prefix of this install (also when
# given only as `cmake --install BUILD --prefix P`) and $ENV{DESTDIR} is honoured. Set before it:
# camwatch_sysconfdir (CMAKE_INSTALL_SYSCONFDIR) and camwatch_config_source.
#
# - No configuration there yet (a fresh install; always so in a package's staging directory, so
#   the .deb carries the file and dpkg manages it as a conffile): it is installed.
# - The same bytes as the shipped one: installed again (nothing changes).
# - Anything else (edited by the administrator): kept untouched; the shipped default goes beside
#   it as camwatch.toml.dist, to compare with.

# Where GNUInstallDirs puts sysconfdir for this prefix: /etc for / and /usr, /etc/opt/X for /opt/X.
if(IS_ABSOLUTE "${camwatch_sysconfdir}")
  set(camwatch_config_dir "${camwatch_sysconfdir}/camwatch")
elseif(CMAKE_INSTALL_PREFIX MATCHES "^/(usr/?)?$")
  set(camwatch_config_dir "/${camwatch_sysconfdir}/camwatch")
elseif(CMAKE_INSTALL_PREFIX MATCHES "^/opt/(.+)$" AND camwatch_sysconfdir STREQUAL "etc")
  set(camwatch_config_dir "/etc/opt/${CMAKE_MATCH_1}/camwatch")
else()
  set(camwatch_config_dir "${CMAKE_INSTALL_PREFIX}/${camwatch_sysconfdir}/camwatch")
endif()

set(camwatch_config "${camwatch_config_dir}/camwatch.toml")
set(camwatch_config_name camwatch.toml)
if(EXISTS "$ENV{DESTDIR}${camwatch_config}")
  file(SHA256 "$ENV{DESTDIR}${camwatch_config}" camwatch_existing)
  file(SHA256 "${camwatch_config_source}" camwatch_shipped)
  if(NOT camwatch_existing STREQUAL camwatch_shipped)
    message(STATUS "Keeping: $ENV{DESTDIR}${camwatch_config} (differs from the shipped default, "
      "which is installed beside it as camwatch.toml.dist)")
    set(camwatch_config_name camwatch.toml.dist)
  endif()
endif()
file(INSTALL DESTINATION "${camwatch_config_dir}" TYPE FILE RENAME "${camwatch_config_name}"
  PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ FILES "${camwatch_config_source}")
