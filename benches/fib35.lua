-- Recursive Fibonacci, the peer of benches/fib35.fasm in scripts/bench.sh:
-- fib(n) = n < 2 ? n : fib(n-1) + fib(n-2); fib(35) = 9227465.
local function fib(n)
  if n < 2 then
    return n
  end
  return fib(n - 1) + fib(n - 2)
end

print(fib(35))
