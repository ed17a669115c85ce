console.log("hello-from-script-file")
