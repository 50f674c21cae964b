/* The smallest C program using chatwire, built by scripts/test-ffi through pkg-config and
 * through CMake's find_package(chatwire) to show each links in one line. Prints the version. */
#include <stdio.h>

#include <chatwire.h>

int main(void) {
    char *version = NULL;
    if (cw_version(&version) != CW_STATUS_OK) return 1;
    printf("chatwire %s\n", version);
    cw_string_free(version);
    return 0;
}
