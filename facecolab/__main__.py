from facecolab.cli.main import main

raise SystemExit(main())
