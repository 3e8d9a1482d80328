# The Debian package, made by CPack from the install rules of the top-level CMakeLists.txt:
#
#   cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr
#   cmake --build build && (cd build && cpack -G DEB)      # build/camwatch_<version>-1_<arch>.deb
#
# Depends: is computed by dpkg-shlibdeps (dpkg-dev) from the binary, never written by hand.
# The maintainer scripts and conffiles list are in packaging/deb/. Files that only make sense in
# the .deb (Debian changelog, lintian overrides) are in the install component "deb", which
# `cmake --install` leaves out (EXCLUDE_FROM_ALL) and the DEB generator adds
# (packaging/cpack-project.cmake). Configure option: CAMWATCH_DEB_MAINTAINER (no address is
# published for the project yet: the default is a placeholder to replace for a real release).

set(CAMWATCH_DEB_MAINTAINER "camwatch maintainers <camwatch@example.net>" CACHE STRING
  "Maintainer: field of the .deb (Name <address>)")
set(CAMWATCH_DEB_REVISION 1 CACHE STRING "Debian revision of the .deb: camwatch_<version>-<revision>")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME camwatch)
set(CPACK_PACKAGE_VENDOR "The camwatch authors")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
# The long description as dpkg shows it: lines of at most 80 columns (lintian), blank line = ".".
set(CPACK_PACKAGE_DESCRIPTION [[
camwatch learns the CAM table a switch should have from every frame seen on
mirror (SPAN) ports or host uplinks, and raises an alert when a station moves
from one uplink to another without announcing it with a RARP, gratuitous ARP
or unsolicited IPv6 neighbour advertisement: after such a NIC-teaming
failover (Windows NLB in unicast mode, VMware with Notify Switches off) the
switch keeps forwarding the station's traffic to the dead uplink.

The daemon (camwatch run, a systemd service) writes JSON Lines events and
serves Prometheus metrics; alert rules and a Grafana dashboard are included.
camwatch replay finds the same moves in capture files after the fact.]])

set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${CAMWATCH_DEB_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_DEBIAN_PACKAGE_RELEASE ${CAMWATCH_DEB_REVISION})
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # camwatch_0.1.0-1_amd64.deb
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Architecture: CPack asks dpkg --print-architecture.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "ieee-data")  # vendor names in `camwatch table`
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "prometheus")   # the alert rules in /usr/share/camwatch/prometheus
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${CMAKE_CURRENT_LIST_DIR}/deb/conffiles
  ${CMAKE_CURRENT_LIST_DIR}/deb/postinst
  ${CMAKE_CURRENT_LIST_DIR}/deb/prerm
  ${CMAKE_CURRENT_LIST_DIR}/deb/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)  # 0755 scripts, 0644 conffiles, as lintian wants
set(CPACK_STRIP_FILES ON)  # no debug info in the package: strip the installed binary
# Absolute destinations (/lib/systemd/system, /etc/camwatch) staged under DESTDIR like the rest.
set(CPACK_SET_DESTDIR ON)
# Everything `cmake --install` installs; the DEB generator adds the component "deb"
# (packaging/cpack-project.cmake).
set(CPACK_INSTALL_CMAKE_PROJECTS "${PROJECT_BINARY_DIR};camwatch;ALL;/")
# The .deb is only right for the /usr prefix (units, /usr/bin/camwatch in them): refuse others.
set(CPACK_CAMWATCH_INSTALL_PREFIX "${CMAKE_INSTALL_PREFIX}")
set(CPACK_PROJECT_CONFIG_FILE ${CMAKE_CURRENT_LIST_DIR}/cpack-project.cmake)

set(CPACK_SOURCE_GENERATOR TGZ)
set(CPACK_SOURCE_IGNORE_FILES "/\\\\.git/" "/build[^/]*/" "/bench/out/" "\\\\.swp$")

include(CPack)

# The Debian changelog (lintian wants /usr/share/doc/camwatch/changelog.Debian.gz), dated when
# CHANGELOG.md last changed, or SOURCE_DATE_EPOCH when set (reproducible builds).
if(DEFINED ENV{SOURCE_DATE_EPOCH})
  string(TIMESTAMP camwatch_deb_date "%a, %d %b %Y %H:%M:%S +0000" UTC)
else()
  file(TIMESTAMP ${PROJECT_SOURCE_DIR}/CHANGELOG.md camwatch_deb_date "%a, %d %b %Y %H:%M:%S +0000" UTC)
endif()
configure_file(${CMAKE_CURRENT_LIST_DIR}/deb/changelog.in ${PROJECT_BINARY_DIR}/packaging/changelog.Debian @ONLY)
# Files only the .deb has (component "deb"): the Debian changelog, the upstream changelog under
# the name Debian gives it (changelog.gz; CHANGELOG.md stays too, for the links to it), and the
# lintian overrides (packaging/deb/lintian-overrides, each with its reason).
set(camwatch_deb_outputs)
if(CAMWATCH_GZIP)
  set(dir ${PROJECT_BINARY_DIR}/packaging)
  add_custom_command(OUTPUT ${dir}/changelog.Debian.gz
    COMMAND ${CAMWATCH_GZIP} -9nkf ${dir}/changelog.Debian
    DEPENDS ${dir}/changelog.Debian COMMENT "Compressing changelog.Debian" VERBATIM)
  add_custom_command(OUTPUT ${dir}/changelog.gz
    COMMAND ${CMAKE_COMMAND} -E copy ${PROJECT_SOURCE_DIR}/CHANGELOG.md ${dir}/changelog
    COMMAND ${CAMWATCH_GZIP} -9nf ${dir}/changelog
    DEPENDS ${PROJECT_SOURCE_DIR}/CHANGELOG.md COMMENT "Compressing CHANGELOG.md" VERBATIM)
  set(camwatch_deb_outputs ${dir}/changelog.Debian.gz ${dir}/changelog.gz)
  install(FILES ${camwatch_deb_outputs} DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT deb EXCLUDE_FROM_ALL)
endif()
install(FILES ${CMAKE_CURRENT_LIST_DIR}/deb/lintian-overrides DESTINATION ${CMAKE_INSTALL_DATADIR}/lintian/overrides
  RENAME camwatch COMPONENT deb EXCLUDE_FROM_ALL)
