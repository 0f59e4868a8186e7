/* placeholder, filled below */
#include "cone_harness.h"
int main(int argc, char **argv) { tu_init(argc, argv); return tu_finish("test_cone_grad"); }
