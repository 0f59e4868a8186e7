* evRY
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
    x1        profit    1.51
    
   ER     cap       99
RANGES
    RNG       cap       5            dem       4
    RNG    capI99
RANGES
    RNG       cap       5            dem       -1e304
    RNG       rng_pos   3            rng_neg     4
 LO BNcccccccccc!!!!!!!!!!c        -2
 UP OTHERBND  x1        1000
ENDATA
