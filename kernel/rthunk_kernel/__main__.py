"""python3 -m rthunk_kernel: what the kernel spec runs."""

import sys

from rthunk_kernel.main import main

sys.exit(main())
