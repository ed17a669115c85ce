print("hello-from-script-file")
