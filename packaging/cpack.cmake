# CPack settings for the Debian package. Dependencies come from dpkg-shlibdeps, so they match
# the libraries the binary really links.
set(CPACK_PACKAGE_NAME netlab)
set(CPACK_PACKAGE_VENDOR "netlab developers")
set(CPACK_PACKAGE_CONTACT "netlab developers <netlab-devel@netlab-project.org>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "network and concurrency programming from the terminal")
set(CPACK_PACKAGE_DESCRIPTION
    "One binary with TCP, unix-socket and UDP echo servers and clients, a safe\nremote-exec service with framed messages, the classic IO models side by side,\na load generator, a process pool for shell scripts, Python-struct packing\nand SSH fan-out.")
set(CPACK_RESOURCE_FILE_LICENSE ${PROJECT_SOURCE_DIR}/LICENSE)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS OFF)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
