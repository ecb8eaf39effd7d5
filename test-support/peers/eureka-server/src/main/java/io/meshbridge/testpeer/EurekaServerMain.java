package io.meshbridge.testpeer;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.cloud.netflix.eureka.server.EnableEurekaServer;

/** A stand-alone Eureka server for Meshbridge's integration tests (settings: application.properties). */
@SpringBootApplication
@EnableEurekaServer
public class EurekaServerMain {
  public static void main(String[] args) {
    SpringApplication.run(EurekaServerMain.class, args);
  }
}
