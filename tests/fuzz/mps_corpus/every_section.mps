* every section and bound type; the test knows the model this must give
NAME          EVERY
OBJSENSE
    MAX
ROWS
 N  profit
 E  bal
 L  cap
 G  dem
 E  rng_pos
 E  rng_neg
 N  spare
COLUMNS
    x1        profit    1.5          cap       2
    x1        bal       1            spare     9
    MARKER    'MARKER'  'INTORG'
    y1        profit    -2           bal       -1
    y1        dem       3            rng_pos   1
    y2        profit    4            rng_neg   1
    MARKER    'MARKER'  'INTEND'
    x2        cap       1            dem       1
    x3        profit    1
    x4        rng_pos   2
    x5        rng_neg   -1
    x6        profit    0.25
    x7        dem       1
    x8        cap       -1
RHS
    RHS       profit    -10          bal       0
    RHS       cap       8            dem       2
    RHS       rng_pos   1            rng_neg   -1
    OTHER     cap       99
RANGES
    RNG       cap       5            dem       4
    RNG       rng_pos   3            rng_neg   -2
BOUNDS
 UP BND       x1        4
 LO BND       x2        -1
 UP BND       x2        1
 FX BND       x3        2.5
 FR BND       x4
 MI BND       x5
 UP BND       x5        7
 PL BND       x6
 BV BND       x7
 LI BND       y1        -3
 UI BND       y1        5
 UP BND       x8        -2
 UP OTHERBND  x1        1000
ENDATA
