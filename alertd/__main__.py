from alertd.cli import main

raise SystemExit(main())
