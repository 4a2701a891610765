module gmp/bench

go 1.19
