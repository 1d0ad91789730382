-- map-filter-reduce — squares of 0 .. 10^6-1, the even ones, summed:
-- builds lists of a million elements and calls a function on each
local function range(lo, hi)
  local t = {}
  for i = lo, hi - 1 do
    t[#t + 1] = i
  end
  return t
end

local function map(f, xs)
  local t = {}
  for i = 1, #xs do
    t[i] = f(xs[i])
  end
  return t
end

local function filter(p, xs)
  local t = {}
  for i = 1, #xs do
    if p(xs[i]) then
      t[#t + 1] = xs[i]
    end
  end
  return t
end

local function reduce(f, init, xs)
  local acc = init
  for i = 1, #xs do
    acc = f(acc, xs[i])
  end
  return acc
end

local function sq(n) return n * n end
local function even(n) return n % 2 == 0 end
local function add(a, b) return a + b end

print(reduce(add, 0, filter(even, map(sq, range(0, 1000000)))))
