#include <stdio.h>
#include <fcntl.h>
#include "gmprt.h"
int main(void)
{
	int fd = open("/dev/gmp", O_RDWR);
	printf("demo: /dev/gmp fd=%d, gmprt %s\n", fd, gmprt_version());
	return fd < 0;
}
